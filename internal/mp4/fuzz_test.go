package mp4

import (
	"bytes"
	"os"
	"testing"
)

// FuzzReadMP4Info: no input makes the box reader panic, hang or claim a
// container it did not read.
func FuzzReadMP4Info(f *testing.F) {
	if b, err := os.ReadFile("/dev/null"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("\x00\x00\x00\x14ftypisom\x00\x00\x02\x00isom\x00\x00\x00\x08moov"))
	f.Add([]byte("\x00\x00\x00\x01ftyp\xff\xff\xff\xff\xff\xff\xff\xff"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, ok := ReadInfo(bytes.NewReader(b), int64(len(b)))
		if ok && (m.Container == "" || !bytes.Contains(b, []byte("ftyp"))) {
			t.Fatalf("claimed %+v", m)
		}
	})
}
