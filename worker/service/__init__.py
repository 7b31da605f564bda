"""What staff and operations do, one module per area (DESIGN.md: no web or CLI code here)."""
