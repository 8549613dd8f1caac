"""The paper's measures as pure functions (arrays in, arrays or DataFrames out), the loader
that turns a recording into their inputs, figure builders and report export.

Measures never import streamlit, h5py or torch; `analysis.loader` reads recordings and
`analysis.model_ops` inspects models for operation counts.
"""
