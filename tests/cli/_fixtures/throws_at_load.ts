// An agent module that fails while loading: emd must refuse to start.
throw new Error("broken at load");
