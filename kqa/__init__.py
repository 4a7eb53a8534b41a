"""kqa: one question, three kinds of knowledge (graph, corpus, model weights), answers side by side."""

__version__ = "0.1.0"
