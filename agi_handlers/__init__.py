"""FastAGI server and one module per AGI route (see routes.ROUTES)."""
