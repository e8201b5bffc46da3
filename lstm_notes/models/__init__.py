"""Models layer (layer 3): the book's three models, one API (DESIGN.md section 4).

``rnn``            ``h_t = tanh(W h_{t-1} + U x_t + b)``, ``ŷ_t = softmax(V h_t + c)``
``lstm``           source 001's LSTM; without the forget-gate parameters it is the 1997
                   constant error carousel (f = 1)
``attention_rnn``  source 004: the RNN whose output attends over its own past states

Each offers ``init_params(n_x, n_h, n_y, seed=0)``, ``example(n_x, n_h, n_y, T,
seed=0) -> (params, x, y, state)``, ``forward(params, x, **state) -> Cache`` (``h``,
``z_y``, ``y_hat`` in every model; the LSTM's ``h`` is its ``a``), ``loss``,
``backward(params, cache, x, y) -> dict`` (every parameter and initial state) and
``loss_and_grads``. Every public function validates its inputs
(``lstm_notes.checking.validate``), the cache a backward pass is given included.
"""
