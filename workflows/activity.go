package workflows

import (
	"reflect"

	"go.temporal.io/sdk/workflow"
)

// Activity is a typed handle on one activity the workflows call: its
// registered name with its input and result types. Package activities
// implements every handle in Activities as a method of the same name
// (activities_test checks the signatures), and the worker registers it.
//
// Workflows call activities through these handles rather than method
// values of activities.Activities, so this package, which the API and
// clients import for names and types, links none of the media code.
type Activity[In, Out any] string

// Name is the activity type name, as it appears in histories.
func (a Activity[In, Out]) Name() string { return string(a) }

// Types are the activity's input and result types.
func (a Activity[In, Out]) Types() (in, out reflect.Type) {
	return reflect.TypeFor[In](), reflect.TypeFor[Out]()
}

// Execute schedules the activity and waits for its result.
func (a Activity[In, Out]) Execute(ctx workflow.Context, in In) (Out, error) {
	var out Out
	f := workflow.ExecuteActivity(ctx, string(a), in)
	if _, none := any(out).(struct{}); none {
		// An activity that returns only an error.
		return out, f.Get(ctx, nil)
	}
	err := f.Get(ctx, &out)
	return out, err
}

// The activities, by the names the worker registers them under.
const (
	Download        Activity[DownloadInput, *DownloadResult]         = "Download"
	Mux             Activity[MuxInput, *MuxResult]                   = "Mux"
	Upload          Activity[UploadInput, *UploadResult]             = "Upload"
	Cleanup         Activity[string, struct{}]                       = "Cleanup"
	DeliverWebhook  Activity[WebhookInput, *WebhookAttempt]          = "DeliverWebhook"
	ResolveBatch    Activity[ResolveBatchInput, *ResolveBatchResult] = "ResolveBatch"
	BatchEpisodes   Activity[BatchEpisodesInput, []Episode]          = "BatchEpisodes"
	ClosedWorkflows Activity[[]string, []ClosedWorkflow]             = "ClosedWorkflows"
	FetchMetadata   Activity[MetadataInput, *Metadata]               = "FetchMetadata"
	DeleteObjects   Activity[DeleteObjectsInput, struct{}]           = "DeleteObjects"
	// PlanSweep lists a subscription's source and plans its sweep.
	PlanSweep Activity[PlanSweepInput, *PlanSweepResult] = "PlanSweep"
)

// ActivityHandle is what every Activity is, whatever its types.
type ActivityHandle interface {
	Name() string
	Types() (in, out reflect.Type)
}

// Activities lists every activity the workflows call.
var Activities = []ActivityHandle{Download, Mux, Upload, Cleanup, DeliverWebhook, ResolveBatch, BatchEpisodes, ClosedWorkflows,
	FetchMetadata, DeleteObjects, RenameEpisodes, PlanSweep}
