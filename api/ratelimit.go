package api

import (
	"crypto/sha256"
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
)

// limiter is a token bucket per API key: each key may make Burst requests
// at once and Rate per second on average. Only authenticated requests reach
// it, so it holds at most one bucket per configured key.
type limiter struct {
	rate  float64 // tokens per second
	burst float64
	now   func() time.Time

	mu      sync.Mutex
	buckets map[[sha256.Size]byte]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(rate float64, burst int, now func() time.Time) *limiter {
	return &limiter{rate: rate, burst: float64(max(burst, 1)), now: now, buckets: map[[sha256.Size]byte]*bucket{}}
}

// take spends a token of key's bucket; when there is none it returns how
// long until there is.
func (l *limiter) take(key string) (ok bool, wait time.Duration) {
	id := sha256.Sum256([]byte(key))
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b, found := l.buckets[id]
	if !found {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[id] = b
	}
	b.tokens = math.Min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}

// rateLimit answers 429 with Retry-After (whole seconds, at least 1) when
// the request's API key is over its rate. It runs after requireAPIKey.
func rateLimit(l *limiter) gin.HandlerFunc {
	return func(c *gin.Context) {
		key := c.GetHeader(apiKeyHeader)
		if l == nil || key == "" { // unauthenticated: /healthz
			c.Next()
			return
		}
		if ok, wait := l.take(key); !ok {
			c.Header("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
			abort(c, newError(http.StatusTooManyRequests, codeRateLimited, "too many requests for this API key; retry after the Retry-After delay"))
			return
		}
		c.Next()
	}
}
