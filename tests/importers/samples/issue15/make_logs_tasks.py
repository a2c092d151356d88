"""Offline Inspect tasks that make the log shapes riskreg issue 15 is about (inspect-ai 0.3.285)."""
from inspect_ai import Epochs, Task, task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.log import HeadlineMetric
from inspect_ai.model import ModelOutput, ModelUsage, get_model
from inspect_ai.scorer import Score, Target, accuracy, grouped, match, mean, scorer, stderr
from inspect_ai.solver import TaskState, generate

ANSWERS = {"q1": "mockllm", "q2": "4", "q3": "Default output", "q4": "London"}
COUNTER = {}


def scripted(input, tools, tool_choice, config):
    prompt = input[-1].text
    key = prompt.split(":")[0]
    COUNTER[key] = COUNTER.get(key, 0) + 1
    # answers vary by attempt so epochs differ
    answer = ANSWERS.get(key, "no idea")
    if key == "q4" and COUNTER[key] % 3 == 2:
        answer = "Paris"
    if key == "q3" and COUNTER[key] % 3 == 0:
        answer = "nope"
    out = ModelOutput.from_content(model="mockllm/model", content=answer)
    out.usage = ModelUsage(input_tokens=10, output_tokens=len(answer.split()), total_tokens=10 + len(answer.split()))
    return out


def samples():
    return [
        Sample(id="q1", input="q1: Say the name of the mock provider.", target="mockllm", metadata={"topic": "meta"}),
        Sample(id="q2", input="q2: What is 2 + 2?", target="4", metadata={"topic": "arith"}),
        Sample(id="q3", input="q3: Repeat exactly: Default output", target="Default output", metadata={"topic": "echo"}),
        Sample(id="q4", input="q4: Capital of France?", target="Paris", metadata={"topic": "geo"}),
    ]


@scorer(metrics={"length": [mean()], "correct": [mean(), stderr()]})
def quality():
    async def score(state: TaskState, target: Target):
        text = state.output.completion
        return Score(value={"length": float(len(text)), "correct": 1.0 if target.text in text else 0.0})
    return score


@task
def dict_headline():
    return Task(
        dataset=MemoryDataset(samples(), name="tiny_dict"),
        solver=[generate()],
        scorer=[match(location="any"), quality()],
        model=get_model("mockllm/model", custom_outputs=scripted),
        headline_metric=HeadlineMetric(scorer="quality", score="length", metric="mean"),
        metadata={"owner": "cyber-team"},
    )


@task
def reducers():
    return Task(
        dataset=MemoryDataset(samples(), name="tiny_epochs"),
        solver=[generate()],
        scorer=match(location="any"),
        epochs=Epochs(3, ["mean", "max", "pass_at_2"]),
        model=get_model("mockllm/model", custom_outputs=scripted),
        headline_metric=HeadlineMetric(reducer="pass_at_2"),
    )


@scorer(metrics=[grouped(accuracy(), "topic"), stderr()])
def topical():
    async def score(state: TaskState, target: Target):
        return Score(value="C" if target.text in state.output.completion else "I")
    return score


@task
def groups():
    return Task(
        dataset=MemoryDataset(samples(), name="tiny_groups"),
        solver=[generate()],
        scorer=topical(),
        model=get_model("mockllm/model", custom_outputs=scripted),
    )
