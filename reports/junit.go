package reports

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"github.com/kongchaos/kong/harness/history"
)

// EncodeJUnit renders the checkers as a JUnit XML test suite that CI
// systems read: one <testsuite name=SCENARIO>, one <testcase> per checker
// result (composed results are replaced by their children) with classname
// "kong.SCENARIO"; an invalid checker has a <failure message=REASON> (its
// details as the body), an unknown one a <skipped message=REASON>. The
// run's duration is split evenly between the test cases (0 when unknown).
//
// When the checkers alone would not tell CI that the run went wrong (there
// are none, or the run aborted or errored, or it failed with no invalid
// checker), one more test case named "run" carries the run's status: a
// failure with the stop reason when the run did not pass, a skip when it
// passed without checker results. A suite with no test case would read as
// green.
//
// The suite's properties say how the run went and where (status, verdict,
// seed, world, profile, backend, replay, and whether the load generator
// kept its schedule); a generator that fell behind is also said in the
// suite's system-out.
func EncodeJUnit(w io.Writer, r *Report) error {
	scenario := Label(r.Run.Scenario)
	class := "kong." + scenario
	leaves := r.LeafCheckers()
	var cases []junitCase
	anyInvalid := false
	for _, c := range leaves {
		jc := junitCase{Name: Label(c.Checker), Classname: class}
		switch c.Valid {
		case history.VerdictValid:
		case history.VerdictInvalid:
			anyInvalid = true
			jc.Failure = &junitMessage{Message: c.Reason, Type: string(c.Valid), Body: strings.Join(c.Details, "\n")}
		default:
			jc.Skipped = &junitMessage{Message: c.Reason, Body: strings.Join(c.Details, "\n")}
		}
		cases = append(cases, jc)
	}
	needRun := len(leaves) == 0 || r.Status == history.StatusAborted || r.Status == history.StatusError ||
		(r.Status == history.StatusFailed && !anyInvalid)
	if needRun {
		jc := junitCase{Name: "run", Classname: class}
		if r.Status == history.StatusPassed {
			jc.Skipped = &junitMessage{Message: "no checker results were recorded"}
		} else {
			jc.Failure = &junitMessage{Message: fmt.Sprintf("%s: %s", r.Status, r.Reason), Type: string(r.Status),
				Body: strings.Join(r.Notes, "\n")}
		}
		cases = append(cases, jc)
	}

	suite := junitSuite{Name: scenario, Tests: len(cases), Time: fmt.Sprintf("%.3f", r.DurationS)}
	if !r.Start.IsZero() {
		suite.Timestamp = r.Start.UTC().Format("2006-01-02T15:04:05")
	}
	each := 0.0
	if len(cases) > 0 {
		each = r.DurationS / float64(len(cases))
	}
	for i := range cases {
		cases[i].Time = fmt.Sprintf("%.3f", each)
		switch {
		case cases[i].Failure != nil:
			suite.Failures++
		case cases[i].Skipped != nil:
			suite.Skipped++
		}
	}
	suite.Cases = cases
	props := [][2]string{
		{"status", string(r.Status)}, {"verdict", string(r.Verdict)}, {"seed", fmt.Sprint(r.Run.Seed)},
		{"world", r.Run.World}, {"profile", r.Run.Profile}, {"backend", r.Run.Backend}, {"replay", r.Run.Replay},
	}
	if g := r.Run.Generator; g != nil {
		props = append(props, [2]string{"generator", generatorSummary(g)})
	}
	if g := generatorBehind(r); g != "" {
		suite.SystemOut = "The load generator did not keep its schedule: " + g
	}
	for _, p := range props {
		if p[1] != "" {
			suite.Properties = append(suite.Properties, junitProperty{Name: p[0], Value: p[1]})
		}
	}

	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(suite); err != nil {
		return err
	}
	if err := enc.Close(); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

type junitSuite struct {
	XMLName    xml.Name        `xml:"testsuite"`
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Properties []junitProperty `xml:"properties>property,omitempty"`
	Cases      []junitCase     `xml:"testcase"`
	SystemOut  string          `xml:"system-out,omitempty"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr,omitempty"`
	Body    string `xml:",chardata"`
}
