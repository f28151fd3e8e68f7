"""Importers of event datasets (GDELT 2.0, ACLED): one module per dataset, one shared bulk path."""
