package app

import (
	"testing"

	"github.com/stretchr/testify/require"
	enumspb "go.temporal.io/api/enums/v1"
)

func TestMissingSearchAttributes(t *testing.T) {
	kw := enumspb.INDEXED_VALUE_TYPE_KEYWORD
	require.Equal(t, []string{"RiptideStatus", "RiptideFolder", "RiptideBatchID", "RiptideTenant"}, MissingSearchAttributes(nil))
	require.Empty(t, MissingSearchAttributes(map[string]enumspb.IndexedValueType{
		"RiptideStatus": kw, "RiptideFolder": kw, "RiptideBatchID": kw, "RiptideTenant": kw, "Other": enumspb.INDEXED_VALUE_TYPE_INT,
	}))
	// A wrong type is as good as missing: keyword equality is what the
	// list query needs.
	require.Equal(t, []string{"RiptideFolder"}, MissingSearchAttributes(map[string]enumspb.IndexedValueType{
		"RiptideStatus": kw, "RiptideFolder": enumspb.INDEXED_VALUE_TYPE_TEXT, "RiptideBatchID": kw, "RiptideTenant": kw,
	}))
}
