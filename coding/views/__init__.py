"""The coding app's pages, one module per family."""
