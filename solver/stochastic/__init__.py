"""Stochastic (Markov) games: the model, certificates, zero-sum and team solvers, backward
induction, the homotopy methods, and the front door (:mod:`~equilibria.solver.stochastic.solve`)."""
