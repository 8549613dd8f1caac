"""Every name of the recording's HDF5 format, shared by the writer and all readers.

Version 2 layout (dims in brackets; N = planned samples, T = timesteps, L = layers, B =
histogram bins + 2 for under- and overflow, K = raw samples):

/                          attrs: format, format_version, complete, n_samples_done,
                                  n_samples_total, shares_done (JSON), stats_slot,
                                  tool_version, created, model (JSON), data (JSON),
                                  settings (JSON: histogram, raw plan, T, shares,
                                  batch_size, checkpoint_seconds, fixed-point scale)
/samples/index   [N]        dataset index of each planned sample, in recording order
/samples/label   [N]        class label (-1: unlabelled data)
/samples/prediction [N]     predicted class (argmax of the model output; -1 until recorded)
/samples/spike_count [N, L, T]  spikes per sample, layer and timestep
/input/event_sum [T, P, H, W]    sum over samples of the input frames (complete files)
/input/active_count [T, P, H, W] samples with at least one event at the pixel
/layers/<NN>/              attrs: name (module path), index, class_name, v_threshold,
                                  v_reset, tau, beta, decay_input, shape (C, H, W), hist_edges;
                                  optional: adapter, neuron (JSON: all the neuron's parameters)
  stats/spike_count [T, C, H, W]  spikes summed over samples (complete files)
  stats/hist        [T, C, B]     MPD histogram of U over samples and (h, w)
  stats/u_count     [T, C]        finite U values counted
  stats/u_sum       [T, C]        sum of U, fixed point (see FIXED_POINT_SCALE)
  stats/u_sumsq     [T, C]        sum of U^2, fixed point
  stats/qe_sum      [T, C]        sum of (U - S)^2, fixed point
  stats/nonfinite   [T, C]        NaN or infinite U values (excluded above)
  raw/sample [K]                  row into /samples of each raw sample (fixed by the plan)
  raw/u      [K, T, C, H, W]      U before reset (float16 or float32), one chunk per sample
  raw/s      [K, T, C, H, W] bool, or [K, T, ceil(C*H*W/8)] uint8 (np.packbits, big bit order)
  raw/h, raw/x  [K, T, C, H, W]   optional: H after reset (paper Eq. 4) and the layer input
  raw/crc32  [K, kinds]           CRC-32 of each stored (compressed) chunk, kinds in attr `kinds`
/raw_input/sample [K], /raw_input/frames [K, T, P, H, W], /raw_input/crc32 [K, 1]

Samples are recorded in contiguous shares of the plan (one share per process; one in a
single process): share i covers rows [start_i, stop_i) of /samples and has recorded its
first shares_done[i] rows. A file is written as `<name>.partial` and renamed to `<name>`
only when complete and verified, so a file without `.partial` is always complete.

Partial files hold the statistics of the last checkpoint in /checkpoint_<slot>/ (layers/<NN>/
<stat> and input/<stat>), where `stats_slot` names the valid slot; a checkpoint is written
into the other slot, flushed, and only then named valid. Rows of /samples past shares_done,
and raw chunks of those rows, may hold data of batches after the checkpoint; readers ignore
them and a resume overwrites them.

The sums of real values are stored as int64 fixed point (each value * FIXED_POINT_SCALE,
rounded, then summed exactly) so that shards, ranks and devices merge exactly by integer
addition, in any order.

Version 1 (tests/data/recording_v1.h5) kept the statistics in /layers/<NN>/stats_<slot>/ and
/input/ at every moment, with no shares and no CRCs; readers still accept it.
"""

FORMAT = "snn-redundancy-recording"
FORMAT_VERSION = 2
SUPPORTED_VERSIONS = (1, 2)
PARTIAL_SUFFIX = ".partial"

# Sums of real values are int64 multiples of 2**-24: every value is rounded to 6e-8 (half to
# even) before an exact integer sum, so any order of addition gives the same bits; sums hold up
# to +-2.7e11 per (t, c) (an overflow stops the recording with an error). Version 1 rounded each
# batch's float sum at 2**-32; readers take the scale from the file's settings.
FIXED_POINT_SCALE = 2.0**24

# root attributes
A_FORMAT = "format"
A_VERSION = "format_version"
A_COMPLETE = "complete"
A_DONE = "n_samples_done"
A_TOTAL = "n_samples_total"
A_SHARES_DONE = "shares_done"
A_SLOT = "stats_slot"
A_TOOL = "tool_version"
A_CREATED = "created"
A_MODEL = "model"
A_DATA = "data"
A_SETTINGS = "settings"
A_SHARD = "shard"
A_DIMS = "dims"  # on every dataset: its dimension names
A_KINDS = "kinds"  # on crc32 datasets: which chunk each column checks
ROOT_ATTRS = (A_FORMAT, A_VERSION, A_COMPLETE, A_DONE, A_TOTAL, A_SLOT, A_TOOL, A_CREATED, A_MODEL, A_DATA,
              A_SETTINGS)
JSON_ATTRS = (A_MODEL, A_DATA, A_SETTINGS)

# groups and datasets
SAMPLES = "samples"
S_INDEX, S_LABEL, S_PREDICTION, S_SPIKES = "index", "label", "prediction", "spike_count"
INPUT = "input"
I_EVENT_SUM, I_ACTIVE = "event_sum", "active_count"
INPUT_STATS = (I_EVENT_SUM, I_ACTIVE)
LAYERS = "layers"
STATS = "stats"
STATS_V1 = "stats_{slot}"
CHECKPOINT = "checkpoint_{slot}"
ST_SPIKES, ST_HIST, ST_COUNT, ST_SUM, ST_SUMSQ, ST_QE, ST_NONFINITE = (
    "spike_count", "hist", "u_count", "u_sum", "u_sumsq", "qe_sum", "nonfinite")
LAYER_STATS = (ST_SPIKES, ST_HIST, ST_COUNT, ST_SUM, ST_SUMSQ, ST_QE, ST_NONFINITE)
RAW = "raw"
R_SAMPLE, R_U, R_S, R_H, R_X, R_CRC = "sample", "u", "s", "h", "x", "crc32"
RAW_KINDS = (R_U, R_S, R_H, R_X)
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
L_NAME, L_INDEX, L_CLASS, L_VTH, L_VRESET, L_TAU, L_BETA, L_DECAY, L_SHAPE, L_EDGES = (
    "name", "index", "class_name", "v_threshold", "v_reset", "tau", "beta", "decay_input", "shape", "hist_edges")
LAYER_ATTRS = (L_NAME, L_INDEX, L_CLASS, L_VTH, L_VRESET, L_TAU, L_BETA, L_DECAY, L_SHAPE, L_EDGES)
# optional layer attributes (files since tool 0.1.0 with framework adapters): the adapter that
# recorded the layer ("spikingjelly", "snntorch", "sinabs", ...) and every neuron parameter it
# reported (JSON), e.g. alpha, reset mechanism, dt of a NIR import
L_ADAPTER, L_NEURON = "adapter", "neuron"
# v_reset is stored as NaN for a soft reset (subtract V_th), as SpikingJelly's v_reset=None


def layer_group(index: int) -> str:
    return f"{LAYERS}/{index:02d}"


def stats_group(index: int) -> str:
    """Final statistics of a layer (version 2, complete files)."""
    return f"{layer_group(index)}/{STATS}"


def stats_group_v1(index: int, slot: int) -> str:
    return f"{layer_group(index)}/{STATS_V1.format(slot=slot)}"


def checkpoint_group(slot: int) -> str:
    return CHECKPOINT.format(slot=slot)


def checkpoint_layer(slot: int, index: int) -> str:
    return f"{checkpoint_group(slot)}/{LAYERS}/{index:02d}"


def checkpoint_input(slot: int) -> str:
    return f"{checkpoint_group(slot)}/{INPUT}"


def slot_path(partial, slot: int):
    """The file beside partial file `partial` that holds checkpoint slot `slot`; the partial
    file reaches it through the external link checkpoint_group(slot)."""
    from pathlib import Path

    partial = Path(partial)
    return partial.with_name(f"{partial.name}.slot{slot}")


def partial_path(path):
    """Where a recording of `path` is written until it is complete."""
    from pathlib import Path

    path = Path(path)
    return path.with_name(path.name + PARTIAL_SUFFIX)
