"""HTTP routes mounted beside Reflex's own through ``api_transformer``."""
