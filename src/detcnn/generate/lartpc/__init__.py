"""Neutrino-like events in a liquid-argon TPC: a fast, vectorised, seeded simulation of energy deposits.

Three samples (classes): ``nue_cc`` (electron + hadrons), ``numu_cc`` (muon + hadrons) and ``nc`` (hadrons only,
more pi0). An event is a vertex, a lepton and a hadronic system (0-3 protons, 0-2 charged pions, 0-2 pi0 whose
photons shower). The particles become energy deposits ("hits"):

- tracks (mu, pi+-, p): continuous mean energy loss from the Bethe CSDA range table (the residual range falls by
  exactly the step length, so kinematics follow the CSDA range), Landau (Moyal) or Bohr (Gaussian) fluctuations of
  the deposited energy per step, Highland multiple scattering per step, stop at the end of the range, at the
  volume boundary, or (pions, protons) after an exponential path with the nuclear interaction length;
- EM showers (e-, photons): a photon first flies an exponential gap of mean 9/7 X0, then a 2-MIP e+e- trunk;
  an electron starts at the vertex with a 1-MIP trunk; then deposits of a few MeV each at depth t ~ Gamma(a, b)
  (in X0, PDG parametrisation) and at a lateral radius with 90 % of the energy inside one Moliere radius;
- detector response per hit: modified Box recombination on the local dE/dx, lifetime attenuation
  exp(-t_drift/tau) and Gaussian diffusion sigma = sqrt(2 D t_drift) along x (drift, anode at x = 0) and in y, z.

Everything is vectorised over the particles of a batch: the only Python loop in tracking runs over *steps*.
Coordinates: x in [0, L_x] (drift), y in [-L_y/2, L_y/2] (vertical), z in [0, L_z] (beam); the neutrino moves
along +z. Units: cm, ns, MeV inside, GeV and thousands of electrons in the output file (see :data:`HIT_TREE_TITLE`).
"""
