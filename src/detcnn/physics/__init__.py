"""Pure array functions for the physics: jet images, jet observables. Arrays in, arrays out."""
