"""Social-network webhook adapters, one module per vendor."""
