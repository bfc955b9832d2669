"""RQ jobs and the worker that runs them."""
