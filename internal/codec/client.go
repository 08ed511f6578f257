package codec

import (
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
)

// Client is a Temporal client that knows the data converter it was dialled
// with, for the code that decodes raw payloads itself (memos, search
// results, history events, heartbeat details of a describe).
type Client struct {
	client.Client
	dc converter.DataConverter
}

// DataConverter is the converter c was dialled with.
func (c Client) DataConverter() converter.DataConverter { return c.dc }

// Wrap returns c carrying dc, for Of.
func Wrap(c client.Client, dc converter.DataConverter) client.Client {
	return Client{Client: c, dc: dc}
}

// Of is the data converter of c: the one Wrap gave it, else Temporal's
// default (clients of tests and fakes, which encrypt nothing).
func Of(c client.Client) converter.DataConverter {
	if w, ok := c.(interface {
		DataConverter() converter.DataConverter
	}); ok && w.DataConverter() != nil {
		return w.DataConverter()
	}
	return converter.GetDefaultDataConverter()
}

// Options sets the data and failure converters of opts from c and returns
// the data converter. A nil c encrypts nothing (PlainOnly) and leaves
// failure messages plain, as before encryption existed.
func Options(opts *client.Options, c *Codec) converter.DataConverter {
	dc := DataConverter(c)
	opts.DataConverter = dc
	if c != nil {
		opts.FailureConverter = FailureConverter(dc)
	}
	return dc
}

// Unwrap returns the SDK's own client under a Wrap, which the SDK's
// worker.New requires.
func Unwrap(c client.Client) client.Client {
	if w, ok := c.(Client); ok {
		return w.Client
	}
	return c
}
