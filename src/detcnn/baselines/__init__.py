"""Cut-based baselines: what a physicist does without a network, evaluated exactly like one."""
