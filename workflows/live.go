package workflows

import "time"

// DownloadTimeout is the Download activity's StartToClose timeout. A live
// recording (its wait for the stream, then the recording up to its cap)
// must end well before it: the worker's cap settings are checked
// against it.
func DownloadTimeout() time.Duration { return downloadOptions.StartToCloseTimeout }
