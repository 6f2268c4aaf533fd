"""Pure rules of the notifications consumer: which event tells whom, what a notice says."""
