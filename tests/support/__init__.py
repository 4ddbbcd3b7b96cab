"""What tests share: real servers on port 0, a real state store, one config writer, one daemon harness."""
