"""The REST service, its middleware and the compute guard filter."""
