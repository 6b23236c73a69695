package consensus

import (
	"reflect"
	"testing"
)

// propFuzzSeeds are valid and invalid inputs for FuzzParseInput; the files
// in testdata/fuzz/FuzzParseInput hold more.
var propFuzzSeeds = []string{
	`{"n":0}`,
	`{"n":2,"block":10,"emission":1000000000,"stake":[1,2],"permits":[true,true],"last_update":[9,9],"block_at_registration":[0,0],"weights":[[[1,65535]],[[0,65535]]],"bonds":[[],[[0,7]]]}`,
	`{"n":3,"block":100,"last_epoch_block":50,"emission":18446744073709551615,"owner_uid":2,"stake":[0,9223372036854775807,0],"permits":[false,true,false],"last_update":[1,99,2],"block_at_registration":[0,0,0],"weights":[[],[[0,1],[2,0]],null],"commit_blocks":[18446744073709551615,3,0],"params":{"kappa":65535,"bonds_penalty":0,"bonds_moving_average":1000000,"max_allowed_validators":0,"activity_cutoff":0,"tempo":0,"yuma3":true,"liquid_alpha":true,"alpha_low":0,"alpha_high":65535,"alpha_sigmoid_steepness":-32768,"stake_threshold":5}}`,
	`{"n":1,"stake":[1],"permits":[true],"last_update":[0],"block_at_registration":[0],"weights":[[[0,65536]]]}`,
	`{"n":1,"stake":[1],"permits":[true],"last_update":[0],"block_at_registration":[0],"weights":[[[1,1]]]}`,
	`{"n":2,"stake":[9223372036854775807,1],"permits":[true,true],"last_update":[0,0],"block_at_registration":[0,0]}`,
	`{"n":1,"stake":[1],"permits":[true],"last_update":[0],"block_at_registration":[0],"params":{"alpha_low":2,"alpha_high":1}}`,
	`{"n":1,"bogus":1}`,
	`{"n":1} {}`,
	`[`,
	``,
}

// FuzzParseInput checks that ParseInput never panics; that what it accepts
// passes Validate and runs through Epoch; and that an accepted input
// survives MarshalJSON and ParseInput unchanged.
func FuzzParseInput(f *testing.F) {
	for _, s := range propFuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		in, err := ParseInput(data)
		if err != nil {
			if in != nil {
				t.Fatalf("ParseInput returned both an input and the error %v", err)
			}
			return
		}
		if err := in.Validate(); err != nil {
			t.Fatalf("accepted input fails Validate: %v", err)
		}
		if in.N > 256 {
			return // valid, but too slow to run an epoch per fuzz input
		}
		if _, err := Epoch(in); err != nil {
			t.Fatalf("Epoch rejects an accepted input: %v", err)
		}
		enc, err := in.MarshalJSON()
		if err != nil {
			t.Fatalf("MarshalJSON: %v", err)
		}
		back, err := ParseInput(enc)
		if err != nil {
			t.Fatalf("re-parsing %s: %v", enc, err)
		}
		if !reflect.DeepEqual(in, back) {
			t.Fatalf("round trip changed the input\n got %#v\nwant %#v\njson %s", back, in, enc)
		}
	})
}
