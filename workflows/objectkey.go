package workflows

import (
	"path"
	"strings"
	"unicode"
)

// objectKey is where the job's media goes: the client's filename when it
// gave one, else the title slug.
func (j *job) objectKey(title string) string {
	if j.in.Filename != "" {
		return j.in.Storage.prefixed(path.Join(j.in.Folder, j.in.Filename))
	}
	return j.in.Storage.prefixed(ObjectKey(j.in.Folder, title, j.in.JobID, j.in.Format))
}

// ObjectKey is the deterministic key of a job's media: a retried upload
// overwrites the same object instead of adding another.
func ObjectKey(folder, title, jobID, format string) string {
	name := slug(title)
	if name == "" {
		name = "media"
	}
	return path.Join(folder, name+"-"+shortID(jobID)+"."+format)
}

// EpisodeFilename is the filename of one episode of a batch that asked for
// a filename: the episode's short job ID goes before the extension, so
// episodes do not overwrite each other and a retry still lands on the same
// key.
func EpisodeFilename(name, jobID string) string {
	if name == "" {
		return ""
	}
	ext := path.Ext(name)
	return strings.TrimSuffix(name, ext) + "-" + shortID(jobID) + ext
}

func shortID(jobID string) string {
	if len(jobID) > 8 {
		return jobID[:8]
	}
	return jobID
}

// slug keeps a title readable in a key (letters of any script, digits,
// single dashes) while keeping path separators and punctuation out of it.
func slug(s string) string {
	var b strings.Builder
	n, dash := 0, false
	for _, r := range strings.ToLower(s) {
		if n >= 80 {
			break
		}
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
			n++
			dash = false
		case !dash && n > 0:
			b.WriteByte('-')
			n++
			dash = true
		}
	}
	return strings.Trim(b.String(), "-")
}
