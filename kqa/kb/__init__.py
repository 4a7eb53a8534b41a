"""Knowledge: build, load, hold and look up packs. Knows nothing of models or ranking."""
