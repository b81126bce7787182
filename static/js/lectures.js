// The lecture equations of each cell's step, in the notation of the course, with the names of
// the step filled in. This is the page's one per-cell table (the equations panel in index.html
// holds the matching static blocks): a cell not listed here is described from its cell_spec
// alone by GENERIC. Each entry gives
//   forward(n)   the lines of the forward step: equation strings, GATES (the gate values) and
//                state(name) (a state's value);
//   recurrent(n) the recurrent term of ∂L/∂h_t (the path back from step t+1);
//   states       per extra state, the equation of its gradient ∂L/∂state_t.
// n holds the step's names, already subscripted: t, prev, next (step numbers), U, W, Wn (the
// weights of this step and of the next), input (x_t or the layer below), hasNext.

/** Marks where the gate values go in a forward description. */
export const GATES = { gates: true };

/** Marks where a state's value goes in a forward description. */
function state(name) {
  return { state: name };
}

function elman(phi, dphi) {
  return {
    forward: (n) => [`h${n.t} = ${phi}(${n.U} ${n.input} + ${n.W} h${n.prev} + b)`],
    recurrent: (n) => `${n.Wn}ᵀ diag${dphi(n)} ∂L/∂h${n.next}`,
    states: {},
  };
}

export const LECTURES = {
  rnn_tanh: elman('tanh', (n) => `(1 − h${n.next}²)`),
  rnn_relu: elman('relu', (n) => `𝟙[z${n.next} > 0]`),
  lstm: {
    forward: (n) => [
      `i, f, o = σ(${n.U} ${n.input} + ${n.W} h${n.prev} + b),  g = tanh(…)`, GATES,
      `c${n.t} = f ⊙ c${n.prev} + i ⊙ g`, state('c'),
      `h${n.t} = o ⊙ tanh(c${n.t})`,
    ],
    recurrent: (n) => `(recurrent path through the gates of step ${n.nextStep})`,
    states: {
      c: (n) => `∂L/∂c${n.t} = ∂L/∂h${n.t} ⊙ o ⊙ (1 − tanh²c${n.t})${n.hasNext ? ` + f${n.next} ⊙ ∂L/∂c${n.next}` : ''}`,
    },
  },
  gru: {
    forward: (n) => [
      `r, z = σ(${n.U} ${n.input} + ${n.W} h${n.prev} + b),  n = tanh(Uₙx + bᵢₙ + r ⊙ (Wₙh${n.prev} + bₕₙ))`, GATES,
      `h${n.t} = (1 − z) ⊙ n + z ⊙ h${n.prev}     (torch convention)`,
    ],
    recurrent: (n) => `z${n.next} ⊙ ∂L/∂h${n.next} + (path through r, z, n)`,
    states: {},
  },
};

/** A cell without lecture text: its step as a function of the input and the previous state, its
 * gates and extra states from the cell_spec. */
export function genericLecture(spec) {
  const extra = spec.states.filter((s) => s !== 'h');
  return {
    forward: (n) => [`h${n.t} = ${spec.name}(${n.U} ${n.input}, ${n.W} h${n.prev})`, ...(spec.gates.length ? [GATES] : []), ...extra.map(state)],
    recurrent: (n) => `(recurrent path through step ${n.nextStep})`,
    states: {},
  };
}
