"""bakegen: compile a SciServer-style image catalogue into one docker buildx bake graph."""

__version__ = "0.1.0"
