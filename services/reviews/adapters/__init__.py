"""Review-platform webhook adapters, one module per vendor."""
