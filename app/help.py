"""Help texts of the dashboard: what each measure is, with the paper's definition number
(Yao et al., ICCV 2023), and the readable names and units of table columns."""

HELP = {
    "nsfr": "Definition 1: N-SFR[t,c,h,w] is the share of samples in which neuron (c,h,w) fires at timestep t "
            "(0..1). T-SFR averages it over the neurons of a layer (or all layers); NASFR is T-SFR averaged "
            "over timesteps.",
    "nasfr": "Definition 1: network average spike firing rate, the mean over timesteps of the share of neurons "
             "firing per sample, over every recorded spiking layer. Lower means fewer spikes.",
    "spike_feature": "Definition 2: the map of N-SFR of one channel at one timestep.",
    "ghost": "Definition 3: spike features of the same layer and timestep that look alike (SSIM or Pearson "
             "above the threshold) are ghost pairs; channels linked by pairs form ghost groups; the ghost ratio "
             "is the share of channels in groups. Only layers with maps of at least 3 x 3.",
    "noise": "Definition 4: a noise pattern fires mostly on the background (pixels with little input): its "
             "firing density outside the foreground is at least this ratio times its density inside. Patterns "
             "use the spike features averaged over all timesteps, so at a single timestep a noise channel can "
             "look quiet.",
    "null": "Definition 4: a null channel (almost) never fires: its firing rate over all timesteps is below this.",
    "foreground": "Definition 4: the foreground is where the input has events: pixels whose event rate, averaged "
                  "over samples and time and resized to the layer, reaches this share of the maximum.",
    "mpd": "Definition 5: membrane potential distribution, the histogram of U (before fire and reset) over all "
           "samples and positions of a channel, over all timesteps.",
    "ptd": "Definition 6: peak-to-threshold distance, the mean centre of the 3 tallest MPD bins minus V_th. "
           "PTD >= 0: most neurons sit at or above threshold (typical of noise); ASA pushes it below 0.",
    "variance": "Variance of U over the MPD's population, exact from running sums (not from the histogram).",
    "qe": "Table 4: quantization error, the mean of (U - S)^2 over the same population.",
    "energy": "Eq. 11: E = 4.6 pJ x MACs + 0.9 pJ x ACs per sample (45 nm); spiking inputs cost ACs, real-valued "
              "inputs (first layer, attention) MACs.",
    "accuracy": "Share of the recorded samples whose prediction equals the label.",
    "timestep": "The timestep t of the spike features shown (0 .. T-1).",
    "outside": "U outside the histogram range is counted in every share and moment but drawn in no bar.",
    "fc": "A fully connected layer has no map: its channels are single neurons, so it has no noise / normal "
          "pattern and no ghost features; it is drawn as a strip of firing rates.",
    "provenance": "PNG: text chunk 'snn-redundancy-provenance' and the DPI; PDF: document information (Subject); "
                  "SVG: a <metadata> element; CSV and LaTeX: comment lines on top (pandas.read_csv(..., comment='#')).",
    "ablation": "If channels are redundant, silencing them should cost little: the run's checkpoint is re-run on "
                "the run's own samples with the chosen channels' output spikes set to 0 (a hook; the model is not "
                "edited). The unsilenced re-run must reproduce the recording exactly. Changes carry 95% intervals "
                "over the samples (accuracy: exact, as McNemar's test; spikes and energy: paired bootstrap); random "
                "controls silence as many channels per layer.",
    "ablation_select": "noise: the noise channels (patterns over all timesteps, the rules in the sidebar); ghosts: "
                       "all but the busiest channel of each ghost group at T // 2; rate / PTD top K: the K channels "
                       "with the most spikes per sample / the MPD peak closest to V_th.",
    "ablation_sweep": "Silence channels in this order, a step at a time, and draw accuracy against the share of "
                      "spikes removed: noise (noise channels first), rate (most spikes first), rate-low (fewest "
                      "first), ptd (peak closest to V_th first), random (random orders, the baseline).",
    "interval": "Paired, both runs on the same samples: accuracy with the exact interval of McNemar's discordant "
                "pairs (Clopper-Pearson, given how many pairs differ: when all go one way the change is an end of "
                "its interval, and runs that agree on every sample get [0, 0]) and McNemar's exact p; NASFR, energy and firing with a bootstrap that "
                "resamples samples together (scipy.stats.bootstrap, BCa, 9999 resamples). Replicates: Welch's t "
                "interval over the runs of each group (e.g. seeds).",
}

COLUMNS = {  # table column -> readable name with unit
    "layer": "layer", "neurons": "neurons", "channels": "channels", "channel": "channel",
    "firing_rate": "firing rate (spikes / neuron / step)", "foreground_rate": "firing on foreground",
    "background_rate": "firing on background", "pattern": "pattern", "ptd": "PTD (U)", "ptd_median": "median PTD (U)",
    "variance": "Var(U)", "variance_mean": "mean Var(U)", "qe": "QE (U²)", "noise": "noise channels",
    "normal": "normal channels", "null": "null channels", "ghost_ratio": "ghost ratio",
    "extra_parameters": "extra parameters", "delta_macs": "Δ MACs per sample", "energy_uj": "energy (µJ per sample)",
    "nasfr": "NASFR", "accuracy": "accuracy", "run": "run", "attention": "attention",
    "parameters": "parameters", "attention_parameters": "attention parameters", "samples": "samples",
    "accuracy_change": "accuracy change", "nasfr_change": "NASFR change", "macs": "MACs per sample",
    "acs": "ACs per sample", "delta_energy_uj": "Δ energy (µJ per sample)", "change": "change",
}

# change columns, shown in percent: percentage points of a share, or relative to the reference
POINTS = ("accuracy_change",)
RELATIVE = ("nasfr_change", "change")


def readable(table, changes: bool = False):
    """A copy of a pandas table with readable column names (unknown columns unchanged; a
    per-run column "name [run]" keeps its run). changes: also the change columns of Tables
    1 and 4 in percent, "+29.0 pp" for shares and "-50.5%" relative to the reference (only
    for those tables: elsewhere a column named "change" can mean either)."""
    shown = table.copy()
    for column in shown.columns if changes else ():
        if column in POINTS:
            shown[column] = [f"{100 * v:+.1f} pp" if v == v else "–" for v in shown[column]]
        elif column in RELATIVE:
            shown[column] = [f"{100 * v:+.1f}%" if v == v else "–" for v in shown[column]]

    def name(column: str) -> str:
        base, bracket, run = str(column).partition(" [")
        return COLUMNS.get(base, base) + (f" [{run}" if bracket else "")
    return shown.rename(columns=name)
