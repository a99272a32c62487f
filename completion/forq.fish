# fish completion for forq(1): commands, their options, states, queues
# (from forq queues) and job ids (from forq list) where they go.

function __forq_socket
    set -l words (commandline -opc)
    for i in (seq (count $words))
        if contains -- $words[$i] -s --socket
            and test $i -lt (count $words)
            printf '%s\n' -s $words[(math $i + 1)]
            return
        end
    end
end

function __forq_ids
    forq (__forq_socket) list --limit 50 --json 2>/dev/null |
        string match -ar '"id":[0-9]+' | string replace '"id":' ''
end

function __forq_queues
    forq (__forq_socket) queues --json 2>/dev/null |
        string match -ar '"name":"[^"]*"' | string replace -r '"name":"([^"]*)"' '$1'
end

set -l cmds submit status list wait logs cancel hold release set retry clean queues pause resume drain workers nodes shutdown ping top metrics
set -l nocmd "not __fish_seen_subcommand_from $cmds"

complete -c forq -f
complete -c forq -n $nocmd -s s -l socket -r -F -d "forqd's socket"
complete -c forq -n $nocmd -l version -d 'print the version'
complete -c forq -n $nocmd -l help -d 'list commands and options'
complete -c forq -n $nocmd -a submit -d 'queue a job'
complete -c forq -n $nocmd -a status -d 'everything known about a job'
complete -c forq -n $nocmd -a list -d 'jobs, newest first'
complete -c forq -n $nocmd -a wait -d 'wait for jobs to end'
complete -c forq -n $nocmd -a logs -d "a job's output"
complete -c forq -n $nocmd -a cancel -d 'cancel queued or running jobs'
complete -c forq -n $nocmd -a hold -d 'keep jobs not started from starting'
complete -c forq -n $nocmd -a release -d 'let held jobs start'
complete -c forq -n $nocmd -a set -d 'change a job not started yet'
complete -c forq -n $nocmd -a retry -d 'run ended jobs again'
complete -c forq -n $nocmd -a clean -d 'remove ended jobs'
complete -c forq -n $nocmd -a queues -d 'the queues, their limits and load'
complete -c forq -n $nocmd -a pause -d 'start no more jobs'
complete -c forq -n $nocmd -a resume -d 'start jobs again'
complete -c forq -n $nocmd -a drain -d 'pause, and wait until idle'
complete -c forq -n $nocmd -a workers -d 'the workers and their jobs'
complete -c forq -n $nocmd -a nodes -d "the cluster's nodes, their leases and load"
complete -c forq -n $nocmd -a shutdown -d 'stop forqd'
complete -c forq -n $nocmd -a ping -d 'check that forqd answers'
complete -c forq -n $nocmd -a top -d 'a live view of workers, queues and running jobs'
complete -c forq -n $nocmd -a metrics -d "forqd's metrics (OpenMetrics text)"

complete -c forq -n "__fish_seen_subcommand_from $cmds" -l json -d 'print JSON only'

set -l sub "__fish_seen_subcommand_from submit"
complete -c forq -n $sub -s n -l name -r -d 'a name for the job'
complete -c forq -n $sub -s q -l queue -x -a '(__forq_queues)' -d 'its queue'
complete -c forq -n $sub -s p -l priority -x -d 'higher starts first'
complete -c forq -n $sub -l timeout -x -d 'TERM, then KILL, after it'
complete -c forq -n $sub -l mem -x -d 'its memory limit'
complete -c forq -n $sub -l cpus -x -d 'whole CPUs of its own'
complete -c forq -n $sub -l cwd -x -a '(__fish_complete_directories)' -d 'its directory'
complete -c forq -n $sub -l env -x -d 'VAR=VALUE in its environment'
complete -c forq -n $sub -l clean-env -d 'only the environment given'
complete -c forq -n $sub -l at -x -d 'start at a time'
complete -c forq -n $sub -l in -x -d 'start after a while'
complete -c forq -n $sub -l retries -x -d 'run again up to N times'
complete -c forq -n $sub -l retry-delay -x -d 'before the first retry'
complete -c forq -n $sub -l retry-on -x -a 'exit signal timeout lost' -d 'which ends are retried'
complete -c forq -n $sub -l after -x -a '(__forq_ids)' -d 'once these succeeded'
complete -c forq -n $sub -l after-any -x -a '(__forq_ids)' -d 'once these ended'
complete -c forq -n $sub -l after-fail -x -a '(__forq_ids)' -d 'once these ended, none succeeded'
complete -c forq -n $sub -l unique -x -d 'not if a job with this key has not ended'
complete -c forq -n $sub -l on-finish -x -d 'run once it has ended'
complete -c forq -n $sub -l hold -d 'held until forq release'
complete -c forq -n $sub -l array -x -d 'tasks, as 1-100%8'
complete -c forq -n $sub -l stdout -r -d 'its output to this file'
complete -c forq -n $sub -l stderr -r -d 'its errors to this file'
complete -c forq -n $sub -l stdin -r -d 'its input from this file'
complete -c forq -n $sub -l append -d 'append to those files'
complete -c forq -n $sub -l umask -x -d 'of those files'
complete -c forq -n $sub -l res -x -d 'of [resources], as gpu=1'
complete -c forq -n $sub -l gpus -x -d 'GPUs it needs'
complete -c forq -n $sub -s w -l wait -d 'wait for it'
complete -c forq -n $sub -s o -l output -d 'print its output'
complete -c forq -n $sub -l batch -r -F -d 'one job per line of a file'

set -l ids "__fish_seen_subcommand_from status wait logs cancel hold release retry set"
complete -c forq -n $ids -a '(__forq_ids)' -d job
complete -c forq -n "__fish_seen_subcommand_from logs" -s f -d 'follow it'
complete -c forq -n "__fish_seen_subcommand_from logs" -l tail -x -d 'its last N lines'
complete -c forq -n "__fish_seen_subcommand_from logs" -l stdout -d 'its stdout only'
complete -c forq -n "__fish_seen_subcommand_from logs" -l stderr -d 'its stderr only'
complete -c forq -n "__fish_seen_subcommand_from set" -l priority -x -d 'its new priority'
complete -c forq -n "__fish_seen_subcommand_from set" -l queue -x -a '(__forq_queues)' -d 'its new queue'
complete -c forq -n "__fish_seen_subcommand_from set" -l at -x -d 'its new start time'
complete -c forq -n "__fish_seen_subcommand_from set" -l in -x -d 'start after this long'
complete -c forq -n "__fish_seen_subcommand_from set" -l timeout -x -d 'its new timeout'
complete -c forq -n "__fish_seen_subcommand_from set" -l name -x -d 'its new name'
complete -c forq -n "__fish_seen_subcommand_from wait" -l all -d 'every job not ended'
complete -c forq -n "__fish_seen_subcommand_from wait" -l queue -x -a '(__forq_queues)' -d "a queue's jobs"

set -l states 'scheduled waiting held queued running succeeded failed timed_out cancelled lost'
complete -c forq -n "__fish_seen_subcommand_from list clean" -l state -x -a $states -d 'in this state'
complete -c forq -n "__fish_seen_subcommand_from list clean" -l user -x -a '(__fish_complete_users)' -d "a user's jobs"
complete -c forq -n "__fish_seen_subcommand_from list" -l queue -x -a '(__forq_queues)' -d "a queue's jobs"
complete -c forq -n "__fish_seen_subcommand_from list" -l name -x -d 'by name'
complete -c forq -n "__fish_seen_subcommand_from list" -l limit -x -d 'at most N'
complete -c forq -n "__fish_seen_subcommand_from list" -l array -x -d "an array's tasks"
complete -c forq -n "__fish_seen_subcommand_from clean" -l older-than -x -d 'ended longer ago'
complete -c forq -n "__fish_seen_subcommand_from pause resume drain" -a '(__forq_queues)' -d queue
complete -c forq -n "__fish_seen_subcommand_from shutdown" -l kill-jobs -d 'stop and requeue running jobs'
complete -c forq -n "__fish_seen_subcommand_from shutdown" -l drain -d 'let running jobs end first'
complete -c forq -n "__fish_seen_subcommand_from top" -l once -d 'print one plain snapshot'

# After --, the job's command and its arguments: commands and files.
function __forq_after_dashdash
    contains -- -- (commandline -opc)
end
complete -c forq -n '__fish_seen_subcommand_from submit; and __forq_after_dashdash' -F -a '(__fish_complete_command)'
