"""File I/O at the edges of the pipeline: ROOT events, HDF5 image datasets, atomic writes."""
