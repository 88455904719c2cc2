package main

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
)

func TestEncodeUsesTheGeneratorsFieldNames(t *testing.T) {
	got := encode(reflect.ValueOf(&model.SidebarCategoryWithChannels{
		SidebarCategory: model.SidebarCategory{DisplayName: "x"},
	})).(map[string]any)
	inner, ok := got["sidebar_category"].(map[string]any)
	if !ok || inner["display_name"] != "x" {
		t.Fatalf("embedded struct not nested under its snake name: %v", got)
	}
	if got["channel_ids"] != nil {
		t.Fatalf("a nil slice must be null, got %#v", got["channel_ids"])
	}
	if got := encode(reflect.ValueOf([]byte("hi"))); got != "aGk=" {
		t.Fatalf("bytes: %v", got)
	}
	if got := encode(reflect.ValueOf(time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC))); got != "0001-01-01T00:00:00.000000Z" {
		t.Fatalf("time: %v", got)
	}
}

func TestDecodeIsEncodesInverseAndRefusesUnknownKeys(t *testing.T) {
	data := decodeJSON(t, `{"id":"x","props":{"n":2,"l":[1,"a"]},"file_ids":["f"],"metadata":null}`)
	v, err := decode(data, reflect.TypeOf(&model.Post{}), "post")
	if err != nil {
		t.Fatal(err)
	}
	post := v.Interface().(*model.Post)
	if post.Id != "x" || post.Props["n"] != int64(2) || post.FileIds[0] != "f" {
		t.Fatalf("decoded %+v", post)
	}
	if _, err := decode(decodeJSON(t, `{"idd":"x"}`), reflect.TypeOf(model.Post{}), "post"); err == nil || !strings.Contains(err.Error(), `"idd"`) {
		t.Fatalf("an unknown key must be refused, got %v", err)
	}
}

func decodeJSON(t *testing.T, s string) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}
