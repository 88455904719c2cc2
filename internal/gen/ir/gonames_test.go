package ir

import (
	"path/filepath"
	"reflect"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	_ "github.com/mmplugin/mmplugin/internal/pb/mmpluginv1" // registers the compiled messages
)

// TestPBGoFieldNamesMatchCompiledCode checks the naming rule against protoc-gen-go's real
// output for every request and response message (the committed proto/fieldnumbers.json keeps
// numbers and names identical to the compiled files).
func TestPBGoFieldNamesMatchCompiledCode(t *testing.T) {
	s := load(t, filepath.Join("..", "..", "..", "proto", "fieldnumbers.json"))
	checked := 0
	for _, svc := range []Service{ServiceAPI, ServiceHooks, ServiceDriver} {
		for _, m := range s.Methods(svc) {
			for msg, ps := range map[string][]*Param{m.RequestMessage: m.RequestFields, m.ResponseMessage: m.ResponseFields} {
				if msg == "" {
					continue
				}
				mt, err := protoregistry.GlobalTypes.FindMessageByName(protoreflect.FullName("mmplugin.v1." + msg))
				if err != nil {
					t.Fatalf("%s: %v (run make generate)", msg, err)
				}
				fields := mt.Descriptor().Fields()
				var names []string
				for i := range fields.Len() {
					names = append(names, string(fields.Get(i).Name()))
				}
				goNames := PBGoFieldNames(names)
				st := reflect.TypeOf(mt.New().Interface()).Elem()
				for _, p := range ps {
					if _, ok := st.FieldByName(goNames[p.ProtoName]); !ok {
						t.Errorf("%s.%s: Go field %s not in %v", msg, p.ProtoName, goNames[p.ProtoName], st)
					}
					checked++
				}
			}
		}
	}
	if checked < 500 {
		t.Errorf("only %d fields checked", checked)
	}
}
