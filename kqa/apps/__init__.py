"""What people run: the CLI, batch scoring, the Gradio app, config and wiring. No QA logic."""
