"""Record every spiking layer of a model to HDF5: membrane potentials before reset (U),
spikes (S), online statistics over all samples, and raw tensors for a chosen subset.

    with Recorder(model, "run.h5", settings, info) as rec:
        for frames, labels, indices in batches:
            rec.record_batch(frames, labels, indices)

The file format is defined in recorder.schema and documented in docs/recording-format.md.
"""
