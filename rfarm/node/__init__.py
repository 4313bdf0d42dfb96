"""The render node: the worker, its frame tracker and lease keeper, render processes and their lifeline."""
