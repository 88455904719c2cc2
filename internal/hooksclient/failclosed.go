package hooksclient

import (
	"fmt"
	"sort"
	"strings"

	"github.com/mattermost/mattermost/server/public/model"
	"github.com/mattermost/mattermost/server/public/plugin"
)

// SetFailClosed makes the named gatekeeping hooks fail closed: when the plugin cannot answer
// (its process is down past the restart wait, or its answer cannot be read) they reject, with a
// reason naming the plugin, instead of returning Mattermost's default of allowing unchanged.
// It fails on a name that is not in FailClosable.
func (h *Client) SetFailClosed(hooks []string) error {
	closed := map[string]bool{}
	for _, name := range hooks {
		if !FailClosable[name] {
			valid := make([]string, 0, len(FailClosable))
			for k := range FailClosable {
				valid = append(valid, k)
			}
			sort.Strings(valid)
			return fmt.Errorf("props.python.fail_closed_hooks in plugin.json names %q, which is not a hook that can fail closed; use the Go names of: %s",
				name, strings.Join(valid, ", "))
		}
		closed[name] = true
	}
	h.failClosed = closed
	return nil
}

// unavailable is the rejection reason of a hook that failed closed. The server shows it after
// its own prefix ("Post rejected by plugin. …").
func (h *Client) unavailable() string {
	return fmt.Sprintf("The %s plugin could not check this because it is unavailable (restarting or failing); try again shortly.", h.pluginID)
}

// hideConsumed is MessagesWillBeConsumed failing closed: every post is replaced by a copy whose
// message and attachments are hidden, so a post the plugin would have redacted never leaves the
// server unredacted.
func (h *Client) hideConsumed(posts []*model.Post) []*model.Post {
	out := make([]*model.Post, 0, len(posts))
	for _, p := range posts {
		if p == nil {
			continue
		}
		hidden := p.Clone()
		hidden.Message = fmt.Sprintf("(hidden: the %s plugin is unavailable; reload to try again)", h.pluginID)
		hidden.DelProp(model.PostPropsAttachments)
		hidden.FileIds = nil
		out = append(out, hidden)
	}
	return out
}

// hideConsumedWithContext is hideConsumed for MessagesWillBeConsumedWithContext.
func (h *Client) hideConsumedWithContext(_ *plugin.Context, posts []*model.Post) []*model.Post {
	return h.hideConsumed(posts)
}
