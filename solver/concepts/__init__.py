"""Solution concepts beside Nash enumeration: Pareto and welfare filters, welfare MILPs,
correlated equilibria, equilibrium selection, and the logit and tracing paths."""
