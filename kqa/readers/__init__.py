"""Question + evidence -> Answer. The only place an Answer is made; the language model runtime lives here."""
