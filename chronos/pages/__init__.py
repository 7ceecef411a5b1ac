"""One module per page; each registers itself with ``registry.page``."""
