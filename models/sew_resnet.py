"""SEW-ResNet-18 of Fang et al. [7], SpikingJelly's implementation (ADD connections,
IF neurons with ATan surrogate), with a 2-channel event input stem and an attention
slot before every spiking neuron layer."""

from __future__ import annotations

import torch
from spikingjelly.activation_based import functional, layer, neuron, surrogate
from spikingjelly.activation_based.model import sew_resnet

from models.attention import AttentionThenNeuron, make_attention
from models.base import ZooModel


class SEWResNet18(ZooModel):
    ARCH = "sew_resnet18"

    def __init__(self, T: int = 16, num_classes: int = 11, in_channels: int = 2, input_size: int = 128,
                 attention: str = "none", reduction: int = 1):
        super().__init__()
        self._remember(locals())
        net = sew_resnet.sew_resnet18(pretrained=False, cnf="ADD", num_classes=num_classes,
                                      spiking_neuron=neuron.IFNode, surrogate_function=surrogate.ATan(),
                                      detach_reset=True)
        net.conv1 = layer.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self._wrap(net, "sn1", net.bn1.num_features, attention, T, reduction)
        for stage in (net.layer1, net.layer2, net.layer3, net.layer4):
            for block in stage:
                self._wrap(block, "sn1", block.bn1.num_features, attention, T, reduction)
                self._wrap(block, "sn2", block.bn2.num_features, attention, T, reduction)
                if block.downsample is not None:
                    self._wrap(block, "downsample_sn", block.downsample[-1].num_features, attention, T, reduction)
        functional.set_step_mode(net, "m")
        self.net = net

    @staticmethod
    def _wrap(parent, name: str, channels: int, attention: str, T: int, reduction: int) -> None:
        setattr(parent, name, AttentionThenNeuron(make_attention(attention, T, channels, reduction),
                                                  getattr(parent, name)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [T, N, C, H, W] -> class scores [N, num_classes] (mean over T of the fc output)."""
        self.begin(x)
        return self.net(x).mean(dim=0)
