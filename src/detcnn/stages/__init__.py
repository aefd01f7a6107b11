"""The stages of the pipeline, one module each, each a ``run(...)`` that takes every path it reads and
writes: ``generate``, ``rasterise``, ``init_tracking``, ``train``, ``fit_baseline``, ``evaluate``, ``report``.
The ``detcnn`` command line and the Snakemake rules call these and nothing else; stages never import
each other, and never branch on a task, source or baseline name (they look it up in the tables of
:mod:`detcnn.catalogue`)."""
