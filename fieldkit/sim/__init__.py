"""Simulation: a realistic incident scenario (:mod:`scenario`) and the headless drill (:mod:`drill`)."""
