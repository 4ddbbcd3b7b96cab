"""The shared PostgreSQL state store: several replicas, one database."""
