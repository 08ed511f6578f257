package segdl

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"io"
	"net/http"
	"net/url"
	"sync"

	"github.com/riptide-dev/riptide/internal/failure"
	"github.com/riptide-dev/riptide/internal/httpget"
	"github.com/riptide-dev/riptide/workflows"
)

// keyCache fetches each AES-128 key once per download, however many
// parts ask for it at the same time.
type keyCache struct {
	mu   sync.Mutex
	keys map[string]*keyEntry
}

type keyEntry struct {
	done chan struct{}
	key  []byte
	err  error
}

func (k *keyCache) get(ctx context.Context, client *http.Client, h http.Header, u *url.URL) ([]byte, error) {
	k.mu.Lock()
	if k.keys == nil {
		k.keys = map[string]*keyEntry{}
	}
	e, ok := k.keys[u.String()]
	if !ok {
		e = &keyEntry{done: make(chan struct{})}
		k.keys[u.String()] = e
	}
	k.mu.Unlock()
	if ok {
		select {
		case <-e.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if e.err == nil {
			return e.key, nil
		}
		return nil, e.err
	}
	e.key, e.err = fetchKey(ctx, client, h, u)
	if e.err != nil {
		// The next part asks again: this failure may pass.
		k.mu.Lock()
		delete(k.keys, u.String())
		k.mu.Unlock()
	}
	close(e.done)
	return e.key, e.err
}

func fetchKey(ctx context.Context, client *http.Client, h http.Header, u *url.URL) ([]byte, error) {
	resp, err := httpget.Get(ctx, client, u, h)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	key, err := io.ReadAll(io.LimitReader(resp.Body, 17))
	if err != nil {
		return nil, failure.Technical(err, "reading the HLS key: the connection broke off")
	}
	if len(key) != 16 {
		return nil, failure.Permanent(workflows.ErrTypeUnsupported, "the HLS key at %s is not 16 bytes long", u.Redacted())
	}
	return key, nil
}

// cbcReader decrypts AES-128-CBC with PKCS#7 padding as it reads: it
// holds back the last block until the end, where the padding is.
type cbcReader struct {
	src  io.Reader
	mode cipher.BlockMode
	in   []byte // ciphertext not decrypted yet
	out  []byte // plaintext not read yet
	buf  []byte
	eof  bool
}

func newCBCReader(src io.Reader, key []byte, iv [16]byte) io.Reader {
	block, _ := aes.NewCipher(key) // 16 bytes: checked by keyCache
	return &cbcReader{src: src, mode: cipher.NewCBCDecrypter(block, iv[:])}
}

var errPadding = errors.New("the segment's AES-128 padding is wrong (wrong key or IV?)")

func (c *cbcReader) Read(p []byte) (int, error) {
	for len(c.out) == 0 {
		if c.eof {
			return 0, io.EOF
		}
		if c.buf == nil {
			c.buf = make([]byte, 64<<10)
		}
		n, err := c.src.Read(c.buf)
		c.in = append(c.in, c.buf[:n]...)
		if err == io.EOF {
			c.eof = true
			if len(c.in)%aes.BlockSize != 0 || len(c.in) == 0 {
				return 0, failure.Permanent(workflows.ErrTypeUnsupported, "an AES-128 segment is not a whole number of blocks")
			}
			c.mode.CryptBlocks(c.in, c.in)
			pad := int(c.in[len(c.in)-1])
			if pad == 0 || pad > aes.BlockSize || !bytes.Equal(c.in[len(c.in)-pad:], bytes.Repeat([]byte{byte(pad)}, pad)) {
				return 0, failure.Permanent(workflows.ErrTypeUnsupported, "%v", errPadding)
			}
			c.out, c.in = c.in[:len(c.in)-pad], nil
			continue
		}
		if err != nil {
			return 0, err
		}
		// Keep the last whole block (and any partial one) back.
		whole := (len(c.in)/aes.BlockSize - 1) * aes.BlockSize
		if whole > 0 {
			c.mode.CryptBlocks(c.in[:whole], c.in[:whole])
			c.out = append(c.out[:0], c.in[:whole]...)
			c.in = append(c.in[:0], c.in[whole:]...)
		}
	}
	n := copy(p, c.out)
	c.out = c.out[n:]
	return n, nil
}
