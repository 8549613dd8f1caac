"""SNN models with an attention slot before their spiking neurons, checkpoints, training.

Models take multi-step input [T, N, C, H, W] and return class scores [N, classes]
(mean over T of the output layer). Build them with :func:`models.registry.build_model`.
"""

TOOL_VERSION = "0.1.0"
