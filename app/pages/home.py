"""Home page: what the dashboard will show, and what already works from the command line."""

import streamlit as st

st.title("SNN redundancy dashboard")
st.markdown(
    """
This tool shows and measures the redundancy that Yao et al. (ICCV 2023, *Inherent Redundancy in
Spiking Neural Networks*) found in spiking neural networks on event-camera data: channels that fire
on the empty background (noise features), channels that copy each other (ghost features), and the
membrane potential distributions behind them, for vanilla models and models with Advanced Spatial
Attention (ASA).

**Available now, from the command line** (see the README):

- event-data readers (N-MNIST `.bin`, AEDAT 2.0 / 3.1 / 4, NumPy) and frame integration;
- the authors' 3-layer LIF-SNN, the 5-layer PLIF-SNN and SEW-ResNet-18, each with no attention,
  SA, TCSA, ASA-1 or ASA-2;
- training: `python -m models.train --data ../shared/data/nmnist-small --attention asa1 --out runs/asa1.pt`;
- safe checkpoints, and import of the authors' arch-A state_dicts;
- recording: `python -m recorder record --checkpoint runs/asa1.pt --data ../shared/data/nmnist-small --out runs/asa1.h5`
  streams membrane potentials before reset, spikes and online statistics of every spiking layer to HDF5.

**Coming next, in this order:** the analysis library (firing rates, ghost features, noise/normal
patterns, MPD, PTD, variance, quantization error, energy), and the pages of this dashboard that browse
recordings, compare vanilla and ASA runs, inspect uploaded checkpoints and export the paper's figures.
"""
)
