"""Normal-form games: file formats, pure, vertex and Lemke-Howson enumeration, zero-sum LPs,
n-player methods, and the Nash front door (:mod:`~equilibria.solver.normal_form.nash`)."""
