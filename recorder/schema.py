"""Every name of the recording's HDF5 format, shared by the writer and all readers.

Version 1 layout (dims in brackets; N = recorded samples, T = timesteps, L = layers,
B = histogram bins + 2 for under- and overflow):

/                          attrs: format, format_version, complete, n_samples_done,
                                  n_samples_total, stats_slot, tool_version, created,
                                  model (JSON), data (JSON), settings (JSON)
/samples/index   [N]        dataset index of each recorded sample
/samples/label   [N]        class label
/samples/prediction [N]     predicted class (argmax of the model output)
/samples/spike_count [N, L, T]  spikes per sample, layer and timestep
/input/event_sum [T, P, H, W]    sum over samples of the input frames (events per pixel)
/input/active_count [T, P, H, W] number of samples with at least one event at the pixel
/layers/<NN>/              attrs: name (module path), index, class_name, v_threshold,
                                  v_reset, tau, beta, decay_input, shape (C, H, W)
  stats_<slot>/spike_count [T, C, H, W]  spikes summed over samples
  stats_<slot>/hist        [T, C, B]     MPD histogram of U over samples and (h, w)
  stats_<slot>/u_count     [T, C]        finite U values counted
  stats_<slot>/u_sum       [T, C]        sum of U, fixed point (see FIXED_POINT_SCALE)
  stats_<slot>/u_sumsq     [T, C]        sum of U^2, fixed point
  stats_<slot>/qe_sum      [T, C]        sum of (U - S)^2, fixed point
  stats_<slot>/nonfinite   [T, C]        NaN or infinite U values (excluded above)
  raw/sample [K]                  row into /samples of each raw sample
  raw/u      [K, T, C, H, W]      U before reset (float16 or float32)
  raw/s      [K, T, C, H, W] bool, or [K, T, ceil(C*H*W/8)] uint8 (np.packbits, big bit order)
  raw/h, raw/x  [K, T, C, H, W]   optional: H after reset (paper Eq. 4) and the layer input
/raw_input/sample [K], /raw_input/frames [K, T, P, H, W]  the raw samples' input frames

The statistics are written in two slots; `stats_slot` names the one that is complete, so
an interruption while writing never leaves half-updated statistics. Sums of real values
are stored as int64 fixed point (value * FIXED_POINT_SCALE, rounded per batch) so that
shards merge exactly by integer addition.
"""

FORMAT = "snn-redundancy-recording"
FORMAT_VERSION = 1
SUPPORTED_VERSIONS = (1,)

# Sums of real values are int64 multiples of 2**-32: exact to 2.3e-10 per batch, and up to
# +-2.1e9 per (t, c) (an overflow stops the recording with an error).
FIXED_POINT_SCALE = 2.0**32

# root attributes
A_FORMAT = "format"
A_VERSION = "format_version"
A_COMPLETE = "complete"
A_DONE = "n_samples_done"
A_TOTAL = "n_samples_total"
A_SLOT = "stats_slot"
A_TOOL = "tool_version"
A_CREATED = "created"
A_MODEL = "model"
A_DATA = "data"
A_SETTINGS = "settings"
A_DIMS = "dims"  # on every dataset: its dimension names

# groups and datasets
SAMPLES = "samples"
S_INDEX, S_LABEL, S_PREDICTION, S_SPIKES = "index", "label", "prediction", "spike_count"
INPUT = "input"
I_EVENT_SUM, I_ACTIVE = "event_sum", "active_count"
LAYERS = "layers"
STATS = "stats_{slot}"
ST_SPIKES, ST_HIST, ST_COUNT, ST_SUM, ST_SUMSQ, ST_QE, ST_NONFINITE = (
    "spike_count", "hist", "u_count", "u_sum", "u_sumsq", "qe_sum", "nonfinite")
RAW = "raw"
R_SAMPLE, R_U, R_S, R_H, R_X = "sample", "u", "s", "h", "x"
RAW_INPUT = "raw_input"
RI_FRAMES = "frames"

FIXED_POINT_STATS = (ST_SUM, ST_SUMSQ, ST_QE)
STAT_DIMS = {
    ST_SPIKES: ("time", "channel", "height", "width"),
    ST_HIST: ("time", "channel", "bin"),
    ST_COUNT: ("time", "channel"), ST_SUM: ("time", "channel"), ST_SUMSQ: ("time", "channel"),
    ST_QE: ("time", "channel"), ST_NONFINITE: ("time", "channel"),
}
RAW_DIMS = ("raw_sample", "time", "channel", "height", "width")
PACKED_DIMS = ("raw_sample", "time", "packed_neuron_bits")
SAMPLE_DIMS = {S_INDEX: ("sample",), S_LABEL: ("sample",), S_PREDICTION: ("sample",),
               S_SPIKES: ("sample", "layer", "time")}
INPUT_DIMS = ("time", "polarity", "height", "width")


def input_dims(ndim: int) -> tuple[str, ...]:
    """Dimension names of the per-timestep input statistics: event frames [T, P, H, W], or
    generic features [T, d1, d2, ...] for other inputs."""
    return INPUT_DIMS if ndim == 4 else ("time", *(f"feature{i}" for i in range(1, ndim)))

# layer attributes
L_NAME, L_INDEX, L_CLASS, L_VTH, L_VRESET, L_TAU, L_BETA, L_DECAY, L_SHAPE = (
    "name", "index", "class_name", "v_threshold", "v_reset", "tau", "beta", "decay_input", "shape")
# v_reset is stored as NaN for a soft reset (subtract V_th), as SpikingJelly's v_reset=None


def layer_group(index: int) -> str:
    return f"{LAYERS}/{index:02d}"


def stats_group(index: int, slot: int) -> str:
    return f"{layer_group(index)}/{STATS.format(slot=slot)}"
